package org.frbench.bench;

import android.os.Debug;
import org.frbench.bench.core.MemoryProbe;
import org.frbench.bench.core.ProcStatus;

/** VmRSS and VmHWM from /proc/self/status, PSS from {@link Debug#getPss()}; all in kB. */
final class AndroidMemoryProbe implements MemoryProbe {
  @Override
  public Sample sample() {
    Long rss = null;
    Long hwm = null;
    Long pss = null;
    try {
      ProcStatus status = ProcStatus.readSelf();
      rss = status.vmRss();
      hwm = status.vmHwm();
    } catch (Throwable ignored) {
      // best effort: the field stays null
    }
    try {
      pss = Debug.getPss();
    } catch (Throwable ignored) {
      // best effort: the field stays null
    }
    return new Sample(rss, hwm, pss);
  }
}
