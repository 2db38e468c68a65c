---
kind: secret
description: The HMAC key shared with the Segment destination function, from SEGMENT_WEBHOOK_SECRET
---
