"""Account state shared by the bots on one machine: one SQLite store per account, with the rate
budget and the confirmed settings as its tables. Imports base and bingx.
"""
