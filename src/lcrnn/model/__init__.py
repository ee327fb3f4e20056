"""lcrnn.model"""
