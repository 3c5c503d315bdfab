package org.frbench.bench.core;

/** A monotonic clock in nanoseconds; {@link #SYSTEM} is {@link System#nanoTime()}. */
public interface Clock {
  /** Nanoseconds from an arbitrary origin; only differences mean anything. */
  long nanoTime();

  /** The real clock: {@code System.nanoTime()} is monotonic on the JVM and on ART. */
  Clock SYSTEM =
      new Clock() {
        @Override
        public long nanoTime() {
          return System.nanoTime();
        }
      };
}
