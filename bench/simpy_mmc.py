"""M/M/10 in SimPy, the same model as `surge bench --customers N` (lambda = 9/s, mu = 1/s, c = 10).

Usage: python3 bench/simpy_mmc.py [customers]   (default 1,000,000)
Prints the customers served, the mean response time (Erlang C: 1.6687 s) and the wall time.
"""
import random
import sys
import time

import simpy

LAMBDA, MU, C = 9.0, 1.0, 10


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rng = random.Random(1)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=C)
    done = [0, 0.0]

    def customer():
        t0 = env.now
        with servers.request() as req:
            yield req
            yield env.timeout(rng.expovariate(MU))
        done[0] += 1
        done[1] += env.now - t0

    def source():
        for _ in range(n):
            yield env.timeout(rng.expovariate(LAMBDA))
            env.process(customer())

    env.process(source())
    t0 = time.perf_counter()
    env.run()
    wall = time.perf_counter() - t0
    print(f"SimPy M/M/10 ({n} customers) wall {wall:.3f}s  mean response {done[1] / done[0]:.4f} s")


if __name__ == "__main__":
    main()
