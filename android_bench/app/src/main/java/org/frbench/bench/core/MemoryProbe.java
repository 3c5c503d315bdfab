package org.frbench.bench.core;

/**
 * Samples the process's memory. On Android: VmRSS and VmHWM from {@code /proc/self/status}, PSS
 * from {@code android.os.Debug.getPss()}; in plain Java: {@link ProcStatus#selfProbe()} (no PSS).
 */
public interface MemoryProbe {
  /** One sample; fields the platform cannot give are null. Should not throw. */
  Sample sample();

  /** Memory figures in kB (the unit of /proc/self/status and Debug.getPss()). */
  final class Sample {
    /** Resident set size now (VmRSS), kB. */
    public final Long rssKb;

    /** Peak resident set size so far (VmHWM), kB. */
    public final Long peakRssKb;

    /** Proportional set size (Debug.getPss()), kB. */
    public final Long pssKb;

    public Sample(Long rssKb, Long peakRssKb, Long pssKb) {
      this.rssKb = rssKb;
      this.peakRssKb = peakRssKb;
      this.pssKb = pssKb;
    }
  }
}
