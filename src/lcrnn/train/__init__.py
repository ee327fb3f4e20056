"""lcrnn.train"""
