package org.frbench.bench.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class DeviceFactsTest {
  @Test
  public void emulators() {
    assertTrue(DeviceFacts.isEmulator(null, null, null, null, "1"));
    assertTrue(DeviceFacts.isEmulator("", "ranchu", "", "", ""));
    assertTrue(DeviceFacts.isEmulator("", "goldfish", "", "", null));
    assertTrue(
        DeviceFacts.isEmulator(
            "google/sdk_gphone64_x86_64/emu64xa:14/UE1A.230829.036/11228894:userdebug/dev-keys",
            "",
            "sdk_gphone64_x86_64",
            "sdk_gphone64_x86_64",
            null));
    assertTrue(
        DeviceFacts.isEmulator(
            "generic_x86_64/sdk_x86_64/generic_x86_64:9/PSR1/1:userdebug/test-keys",
            "",
            "",
            "",
            ""));
    assertTrue(DeviceFacts.isEmulator("", "", "", "Android SDK built for x86_64", ""));
  }

  @Test
  public void phones() {
    assertFalse(
        DeviceFacts.isEmulator(
            "google/husky/husky:14/AP1A.240305.019/11273751:user/release-keys",
            "husky",
            "husky",
            "Pixel 8 Pro",
            "0"));
    assertFalse(DeviceFacts.isEmulator(null, null, null, null, null));
  }

  @Test
  public void deviceObjectKeys() {
    assertEquals(
        "{kind=android, model=Pixel 8, manufacturer=Google, abi=arm64-v8a, sdk=34, cores=8, emulator=false}",
        DeviceFacts.android("Pixel 8", "Google", "arm64-v8a", 34, 8, false).toString());
  }
}
