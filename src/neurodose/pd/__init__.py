"""neurodose.pd"""
