"""Mirroring BLS time.series survey folders: listing, planning, transfer."""
