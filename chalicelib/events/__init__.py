"""Stream and schedule handlers: decode (``storage.stream``) → service → report failed records.

One module per domain, each listing what it reacts to in ``HANDLERS``; ``stream`` holds the
Lambda function that routes the main table's stream records to them, ``schedules`` the
scheduled jobs. Like the HTTP edge, they get their objects from ``chalicelib.wiring``.
"""
