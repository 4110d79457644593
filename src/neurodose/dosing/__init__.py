"""neurodose.dosing"""
