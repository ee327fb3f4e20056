"""lcrnn.data"""
