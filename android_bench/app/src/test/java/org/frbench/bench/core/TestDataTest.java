package org.frbench.bench.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class TestDataTest {
  @Rule public TemporaryFolder tmp = new TemporaryFolder();

  private static String openError(File images, File masks, int[] shape) throws Exception {
    try {
      TestData.open(images, masks, shape).close();
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
    fail("expected an IllegalArgumentException");
    return null;
  }

  @Test
  public void readsImagesLittleEndianAndMasks() throws Exception {
    File dir = tmp.getRoot();
    Map<String, String> a = Fakes.testFiles(dir, "m.ptl");
    TestData d = TestData.open(new File(a.get("images")), new File(a.get("masks")), new int[] {3, 3, 4, 5});
    try {
      assertEquals(3, d.count());
      assertEquals(3, d.channels());
      assertEquals(4, d.height());
      assertEquals(5, d.width());
      assertArrayEquals(new long[] {1, 3, 4, 5}, d.inputShape());
      float[] img = d.image(1);
      assertEquals(60, img.length);
      assertEquals(1f, img[0], 0);
      assertEquals(1f, img[1], 0);
      assertEquals(0f, img[2], 0);
      byte[] m = d.mask(2);
      assertEquals(20, m.length);
      assertEquals(1, m[2]);
      assertEquals(1, m[10]);
      assertEquals(0, m[3]);
    } finally {
      d.close();
    }
  }

  @Test
  public void exactFloatValuesSurvive() throws Exception {
    File img = tmp.newFile("i.bin");
    File msk = tmp.newFile("m.bin");
    float[] values = {0f, 1f, 0.5f, 1f / 255f, 0.123456789f, 1e-7f};
    Fakes.writeFloats(img, values);
    Fakes.writeBytes(msk, new byte[2]);
    TestData d = TestData.open(img, msk, new int[] {1, 3, 1, 2});
    try {
      assertArrayEquals(values, d.image(0), 0f);
    } finally {
      d.close();
    }
  }

  @Test
  public void imageSizeMustMatchTheShape() throws Exception {
    File img = tmp.newFile("i.bin");
    File msk = tmp.newFile("m.bin");
    Fakes.writeBytes(img, new byte[100]);
    Fakes.writeBytes(msk, new byte[2 * 4 * 4]);
    String e = openError(img, msk, new int[] {2, 3, 4, 4});
    assertTrue(e, e.startsWith("images: " + img.getPath() + " has 100 bytes, but shape 2,3,4,4 needs 384"));
  }

  @Test
  public void maskSizeMustMatchTheShape() throws Exception {
    File img = tmp.newFile("i.bin");
    File msk = tmp.newFile("m.bin");
    Fakes.writeBytes(img, new byte[384]);
    Fakes.writeBytes(msk, new byte[31]);
    String e = openError(img, msk, new int[] {2, 3, 4, 4});
    assertTrue(e, e.startsWith("masks: " + msk.getPath() + " has 31 bytes, but shape 2,3,4,4 needs 32"));
  }

  @Test
  public void missingFilesAreNamed() throws Exception {
    File msk = tmp.newFile("m.bin");
    File none = new File(tmp.getRoot(), "absent.bin");
    String e = openError(none, msk, new int[] {1, 3, 1, 1});
    assertEquals("images: no such file: " + none.getPath(), e);
  }

  @Test
  public void maskValuesMustBeZeroOrOne() throws Exception {
    File img = tmp.newFile("i.bin");
    File msk = tmp.newFile("m.bin");
    Fakes.writeBytes(img, new byte[2 * 3 * 2 * 2 * 4]);
    Fakes.writeBytes(msk, new byte[] {0, 1, 1, 0, 0, 0, (byte) 255, 0});
    TestData d = TestData.open(img, msk, new int[] {2, 3, 2, 2});
    try {
      d.mask(0);
      d.mask(1);
      fail("expected an exception");
    } catch (IllegalArgumentException e) {
      assertEquals("masks: image 1 has value 255 at pixel 2; expected 0 or 1", e.getMessage());
    } finally {
      d.close();
    }
  }
}
