"""Pure data: resource kinds, statuses, the release record and the error tree.

No I/O happens in this package: functions take data and return data.
"""
