"""neurodose.trial"""
