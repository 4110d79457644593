"""neurodose.cli"""
