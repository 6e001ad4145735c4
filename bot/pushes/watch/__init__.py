"""Watching for what no shop event says: parcels that stopped moving, parcels waiting at a
pickup point, paid orders not shipped yet; and the staff follow-up list they feed.

Part of `bot.pushes`; the scans are pure functions of an order and a time (`scans.py`), the
runner feeds them orders from a watch index kept off the `orders:changes` stream."""
