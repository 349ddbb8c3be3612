"""Plumbing with no BingX knowledge: JSON decoded with a depth bound, files written whole, private
files. Imports nothing of the plugin.
"""
