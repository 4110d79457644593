"""neurodose.advice"""
