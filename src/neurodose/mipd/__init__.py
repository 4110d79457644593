"""neurodose.mipd"""
