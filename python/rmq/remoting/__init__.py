"""The RocketMQ remoting protocol: frames, headers, and an asyncio server and client.

``command`` holds the command value, ``header`` its two header encodings, ``frame`` the
length-prefixed framing and the incremental decoder, ``connection`` one socket with its
pending requests, ``dispatch`` the request-code table, ``server`` and ``client`` the ends.
"""
