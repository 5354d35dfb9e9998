"""Readiness of the lab's tacker-conductor: is every RPC topic it serves consumed?

tacker-server hands package uploads (topic TACKER_CONDUCTOR) and v2 lifecycle operations (TACKER_CONDUCTOR_V2) to
tacker-conductor as RPC casts. A cast published before the conductor has declared its queue and consumes it is
dropped by RabbitMQ (the topic exchange has no queue bound to that key yet), and the package it was for stays in
UPLOADING for good. Tacker's API answering says nothing about the conductor, so the lab asks RabbitMQ: a passive
queue.declare of each topic's queue returns its consumer count.

usage: rpc_consumers.py AMQP_URL TOPIC...
Prints "TOPIC CONSUMERS" per topic (0 when the queue does not exist yet). Exit 0 when every topic has a consumer,
1 when one has none (or RabbitMQ could not be asked), 2 on a usage error.
"""
import sys

import amqp.exceptions
import kombu


def consumers(conn, topic):
    channel = conn.channel()
    try:
        return channel.queue_declare(queue=topic, passive=True).consumer_count
    except amqp.exceptions.NotFound:
        # The server closes the channel after a failed passive declare.
        return 0
    finally:
        try:
            channel.close()
        except Exception:
            pass


def main(argv):
    if len(argv) < 3:
        print(__doc__.split('\n\n')[-1], file=sys.stderr)
        return 2
    ready = True
    with kombu.Connection(argv[1], connect_timeout=2) as conn:
        conn.connect()
        for topic in argv[2:]:
            n = consumers(conn, topic)
            print(topic, n)
            ready = ready and n > 0
    return 0 if ready else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
