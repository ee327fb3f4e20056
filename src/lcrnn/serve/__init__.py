"""lcrnn.serve"""
