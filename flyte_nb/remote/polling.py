"""How often :meth:`RemoteExecution.wait <flyte_nb.remote.executions.RemoteExecution.wait>` asks FlyteAdmin.

A notebook user waiting for a short run wants its result the moment the cluster has it; a run that takes
an hour needs no poll a second. So the pause between two ``GetExecution`` calls is
:data:`MIN_POLL_INTERVAL` for the first :data:`FAST_START` second, then grows by that much per poll up
to :data:`FAST_POLL_INTERVAL`, stays there until :data:`FAST_FOR` seconds of waiting (a result is seen
within half a second of FlyteAdmin reporting it, a very short run's within 0.1 s), and then grows by
half per poll up to the execution's ``max_poll_interval``:

=============  =======================================================================
waited         pause before the next poll
=============  =======================================================================
up to 1 s      0.1 s
then           0.2 s, 0.3 s, 0.4 s, 0.5 s
up to 30 s     0.5 s
after 30 s     0.75 s, 1.1 s, 1.7 s, 2.5 s … up to ``max_poll_interval`` (10 s by default)
=============  =======================================================================

:data:`MIN_POLL_INTERVAL` is a ceiling on the rate, whatever the arguments: one execution is never asked
about more than 10 times a second by ``wait`` and ``phase`` together, however many threads wait on it.
"""

from __future__ import annotations

__all__ = ["BACKOFF", "FAST_FOR", "FAST_POLL_INTERVAL", "FAST_START", "MIN_POLL_INTERVAL", "PollSchedule"]

#: Seconds between two polls of one execution, at least (at most 10 GetExecution calls a second).
MIN_POLL_INTERVAL = 0.1
#: Seconds of waiting during which every pause is MIN_POLL_INTERVAL (short runs: on a fast cluster or a
#: local stand-in a trivial task is done in well under a second).
FAST_START = 1.0
#: The longest pause while the run is young: a short run's result shows within this of admin having it.
FAST_POLL_INTERVAL = 0.5
#: Seconds of waiting during which pauses stay at most FAST_POLL_INTERVAL.
FAST_FOR = 30.0
#: Growth of the pause per poll after FAST_FOR.
BACKOFF = 1.5


class PollSchedule:
    """The pauses between the polls of one ``wait``.

    Parameters
    ----------
    first:
        The first pause (raised to :data:`MIN_POLL_INTERVAL` if smaller).
    max_interval:
        The longest pause (never below :data:`MIN_POLL_INTERVAL`).
    """

    def __init__(self, first: float = MIN_POLL_INTERVAL, max_interval: float = 10.0) -> None:
        self.max_interval = max(MIN_POLL_INTERVAL, max_interval)
        self._delay = self._bounded(first)

    def _bounded(self, delay: float) -> float:
        return max(MIN_POLL_INTERVAL, min(self.max_interval, delay))

    def next(self, waited: float) -> float:
        """The pause before the next poll, ``waited`` seconds after the wait began."""
        delay = self._delay
        if waited < FAST_START:
            grown = delay
        elif waited < FAST_FOR:
            grown = max(delay, min(FAST_POLL_INTERVAL, delay + MIN_POLL_INTERVAL))
        else:
            grown = delay * BACKOFF
        self._delay = self._bounded(grown)
        return delay
