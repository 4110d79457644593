"""neurodose.pk"""
