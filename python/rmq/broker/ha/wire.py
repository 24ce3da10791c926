"""The HA port's two frames (Java: ``HAConnection``, ``HAService.HAClient``).

Master to slave: a 12-byte header (commitlog offset of the first byte, body size) and the
raw commitlog bytes; a header with size 0 is a heartbeat. Slave to master: its max commitlog
offset, 8 bytes, as a request (first report) and as an acknowledgement (every later one).
"""

import struct
from typing import Final

TRANSFER_HEADER: Final = struct.Struct(">qi")
REPORT: Final = struct.Struct(">q")
