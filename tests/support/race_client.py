"""Fires N requests at once (threads released by a barrier) and prints their status codes as JSON.

Usage: python race_client.py URL THREADS BODIES_JSON
BODIES_JSON is a list of request bodies, used round-robin by the threads.
"""
import json
import sys
import threading

import requests


def main() -> None:
    url, threads, bodies = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    barrier = threading.Barrier(threads)
    codes: list[int] = []
    lock = threading.Lock()

    def fire(index: int) -> None:
        session = requests.Session()
        body = bodies[index % len(bodies)]
        barrier.wait()
        try:
            status = session.post(url, json=body, timeout=60).status_code
        except requests.RequestException:
            status = -1
        with lock:
            codes.append(status)

    workers = [threading.Thread(target=fire, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(json.dumps(codes))


if __name__ == "__main__":
    main()
