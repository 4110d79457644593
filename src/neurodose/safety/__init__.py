"""neurodose.safety"""
