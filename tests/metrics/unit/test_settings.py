"""The metrics service's own settings refuse what its consumer could not run with."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flightdeck.metrics.settings import MetricsSettings


def test_fetch_sizes_reach_the_consumer() -> None:
    kafka = MetricsSettings(
        kafka_max_poll_records=300, kafka_max_partition_fetch_bytes=65536
    ).kafka()
    assert (kafka.max_poll_records, kafka.max_partition_fetch_bytes) == (300, 65536)


@pytest.mark.parametrize("name", ["kafka_max_poll_records", "kafka_max_partition_fetch_bytes"])
def test_a_fetch_size_that_is_not_positive_is_refused(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"FLIGHTDECK_METRICS_{name.upper()}", "0")
    with pytest.raises(ValidationError, match=name):
        MetricsSettings()
