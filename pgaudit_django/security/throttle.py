"""Limit how many security-finding rows get written, so a scan costs a few rows, not
thousands, and a flood of probes cannot be turned into a flood of database writes.

At most one row per key (client ip, rule) per window; the row that is written reports
how many hits were suppressed since the previous one. Suppressed hits of a window are
reported by the next written row, so the last window's count is only seen if that key
hits again.

By default the state is in-process: a deployment with N worker processes writes at most
N rows per key per window. Set ``AUDIT_SECURITY_THROTTLE_CACHE`` to a cache alias to
share the state through Django's cache instead (``cache.add`` makes "first in the window"
atomic; the suppressed count is best effort there).
"""

import hashlib
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

DEFAULT_WINDOW = 60.0
DEFAULT_MAX_KEYS = 10_000
_CACHE_PREFIX = "pgaudit_django:throttle:"

ThrottleKey = tuple[str, str]


class Throttle:
    """Decide whether a finding for ``key`` should be written now.

    ``window`` is in seconds; ``0`` disables throttling (every hit is written).
    ``max_keys`` bounds memory: the least recently seen key is forgotten first.
    """

    def __init__(
        self,
        window: float = DEFAULT_WINDOW,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
        cache_alias: str | None = None,
    ) -> None:
        if isinstance(window, bool) or not isinstance(window, int | float) or window < 0:
            raise ImproperlyConfigured(f"Throttle window must be seconds >= 0, got {window!r}.")
        if max_keys < 1:
            raise ImproperlyConfigured(f"Throttle max_keys must be >= 1, got {max_keys!r}.")
        if cache_alias is not None and cache_alias not in settings.CACHES:
            raise ImproperlyConfigured(
                f"AUDIT_SECURITY_THROTTLE_CACHE names unknown cache alias {cache_alias!r}."
            )
        self.window = float(window)
        self.max_keys = max_keys
        self.cache_alias = cache_alias
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (window start, hits suppressed in it); insertion order is recency order.
        self._entries: OrderedDict[ThrottleKey, tuple[float, int]] = OrderedDict()
        self._cache_failed = False

    @classmethod
    def from_settings(cls) -> "Throttle":
        """``AUDIT_SECURITY_THROTTLE`` (seconds, default 60; ``0``/``None`` = off) and
        ``AUDIT_SECURITY_THROTTLE_CACHE`` (cache alias, default in-process)."""
        window = getattr(settings, "AUDIT_SECURITY_THROTTLE", DEFAULT_WINDOW)
        alias = getattr(settings, "AUDIT_SECURITY_THROTTLE_CACHE", None)
        return cls(0 if window is None else window, cache_alias=alias or None)

    def allow(self, key: ThrottleKey) -> tuple[bool, int]:
        """Return ``(write this one?, hits suppressed since the last write)``.

        When the answer is ``False`` the count includes this hit, for callers that
        want to log progress; when ``True`` it is what the new row should record.
        """
        if not self.window:
            return True, 0
        if self.cache_alias is not None:
            try:
                return self._allow_cached(key, self.cache_alias)
            except Exception:
                # Auditing must never break the request: fall back to per-process
                # state, and warn once rather than on every probe of a scan.
                if not self._cache_failed:
                    self._cache_failed = True
                    logger.warning(
                        "Security throttle cache failed; using in-process state.", exc_info=True
                    )
        return self._allow_local(key)

    def _allow_local(self, key: ThrottleKey) -> tuple[bool, int]:
        with self._lock:
            now = self._clock()
            entry = self._entries.get(key)
            if entry is not None and now - entry[0] < self.window:
                suppressed = entry[1] + 1
                self._entries[key] = (entry[0], suppressed)
                self._entries.move_to_end(key)
                return False, suppressed
            self._entries[key] = (now, 0)
            self._entries.move_to_end(key)
            if len(self._entries) > self.max_keys:
                self._entries.popitem(last=False)
            return True, entry[1] if entry is not None else 0

    def _allow_cached(self, key: ThrottleKey, alias: str) -> tuple[bool, int]:
        # Hashed: cache backends restrict key length and characters (memcached: 250, no
        # spaces), and rule names / addresses are not worth trusting to fit.
        digest = hashlib.sha256("\x1f".join(key).encode("utf-8", "backslashreplace")).hexdigest()
        gate, counter = f"{_CACHE_PREFIX}{digest}:gate", f"{_CACHE_PREFIX}{digest}:count"
        cache = caches[alias]  # per call: cache clients are per thread
        timeout = max(1, math.ceil(self.window))
        if cache.add(gate, 1, timeout):
            suppressed = cache.get(counter, 0)
            if suppressed:
                cache.delete(counter)  # hits counted between get and delete are lost
            return True, int(suppressed)
        try:
            return False, int(cache.incr(counter))
        except ValueError:  # counter missing; add() so a concurrent add is not reset
            if cache.add(counter, 1, timeout * 10):
                return False, 1
            return False, int(cache.incr(counter))
