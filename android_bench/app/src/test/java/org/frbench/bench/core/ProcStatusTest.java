package org.frbench.bench.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.io.File;
import org.junit.Assume;
import org.junit.Test;

public class ProcStatusTest {
  static final String SAMPLE =
      "Name:\tbench.ptl\n"
          + "Umask:\t0077\n"
          + "State:\tR (running)\n"
          + "VmPeak:\t 6023452 kB\n"
          + "VmSize:\t 5960000 kB\n"
          + "VmHWM:\t  152344 kB\n"
          + "VmRSS:\t  150212 kB\n"
          + "RssAnon:\t   60000 kB\n"
          + "Threads:\t12\n"
          + "VmSwap:\t       0 kB\n"
          + "Broken:\t  12x kB\n";

  @Test
  public void parsesTheMemoryLines() {
    ProcStatus s = ProcStatus.parse(SAMPLE);
    assertEquals(Long.valueOf(150212), s.vmRss());
    assertEquals(Long.valueOf(152344), s.vmHwm());
    assertEquals(Long.valueOf(6023452), s.kb("VmPeak"));
    assertEquals(Long.valueOf(0), s.kb("VmSwap"));
    assertNull(s.kb("Threads")); // not a kB line
    assertNull(s.kb("Broken")); // malformed value skipped
    assertNull(s.kb("Name"));
  }

  @Test
  public void missingLinesAreNull() {
    ProcStatus s = ProcStatus.parse("Name:\tx\n");
    assertNull(s.vmRss());
    assertNull(s.vmHwm());
    assertNull(ProcStatus.parse(null).vmRss());
    assertNull(ProcStatus.parse("").vmHwm());
  }

  @Test
  public void windowsLineEndingsToo() {
    ProcStatus s = ProcStatus.parse("VmRSS:\t 10 kB\r\nVmHWM:\t 12 kB\r\n");
    assertEquals(Long.valueOf(10), s.vmRss());
    assertEquals(Long.valueOf(12), s.vmHwm());
  }

  @Test
  public void readsThisProcessOnLinux() throws Exception {
    Assume.assumeTrue(new File(ProcStatus.SELF).exists());
    ProcStatus s = ProcStatus.readSelf();
    assertNotNull(s.vmRss());
    assertTrue(s.vmHwm() >= s.vmRss());
    MemoryProbe.Sample sample = ProcStatus.selfProbe().sample();
    assertNotNull(sample.rssKb);
    assertNull(sample.pssKb);
  }
}
