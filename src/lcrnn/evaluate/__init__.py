"""lcrnn.evaluate"""
