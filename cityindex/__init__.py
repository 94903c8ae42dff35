"""Areas, indicators and the city index, computed without a database.

The shell stores layers and settings and streams clean records through a `Tally`; everything that
decides a figure (a polygon's area, which area a point falls in, a score, a rank) lives here, so a
test can check it by hand.
"""
