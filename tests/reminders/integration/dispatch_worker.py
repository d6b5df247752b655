"""A dispatcher process for the race test: waits for a start signal, then sends until nothing is due.

    python dispatch_worker.py CONFIG_JSON GO_FILE THREADS

Prints one JSON line: how many messages each of its dispatcher threads claimed.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from kapbook_reminders.bootstrap import bootstrap
from kapbook_reminders.config import RemindersConfig

IDLE_ROUNDS_TO_STOP = 5


def race(dispatcher, claimed: list[int], index: int) -> None:
    idle = 0
    while idle < IDLE_ROUNDS_TO_STOP:
        count = dispatcher.dispatch_due()
        claimed[index] += count
        idle = 0 if count else idle + 1
        if not count:
            time.sleep(0.02)


def main() -> None:
    config_json, go_file, threads = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    config = json.loads(config_json)
    config["var_dir"] = Path(config["var_dir"])
    containers = [bootstrap(RemindersConfig(**config)) for _ in range(threads)]
    claimed = [0] * threads
    workers = [
        threading.Thread(target=race, args=(container.dispatcher, claimed, index))
        for index, container in enumerate(containers)
    ]
    print("ready", flush=True)
    while not go_file.exists():
        time.sleep(0.005)
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(json.dumps({"claimed": claimed}), flush=True)


if __name__ == "__main__":
    main()
