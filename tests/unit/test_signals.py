"""SIGTERM and SIGINT raise Interrupted once inside dataquest.signals.interruptible(); a second one, during the
cleanup, is ignored so that the cleanup finishes; outside the block the previous handlers are back."""

from __future__ import annotations

import os
import signal

import pytest

from dataquest.errors import Interrupted
from dataquest.signals import interruptible


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_raises_interrupted_once_and_a_second_is_ignored_during_cleanup(sig: signal.Signals) -> None:
    before = signal.getsignal(sig)
    cleaned: list[bool] = []

    def work() -> None:
        with interruptible():
            try:
                os.kill(os.getpid(), sig)  # the handler runs as soon as os.kill returns
                pytest.fail("the signal did not interrupt")
            finally:
                os.kill(os.getpid(), signal.SIGTERM)  # a second signal while cleaning up: no second exception
                cleaned.append(True)

    with pytest.raises(Interrupted) as info:
        work()
    assert info.value.signal_name == sig.name
    assert cleaned == [True]
    assert signal.getsignal(sig) == before


def test_interrupted_is_not_a_dataquest_error_so_no_per_file_handler_swallows_it() -> None:
    from dataquest.errors import DataQuestError

    assert not issubclass(Interrupted, DataQuestError)
    assert issubclass(Interrupted, KeyboardInterrupt)
