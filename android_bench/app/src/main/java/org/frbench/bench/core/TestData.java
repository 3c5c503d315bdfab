package org.frbench.bench.core;

import java.io.Closeable;
import java.io.EOFException;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;

/**
 * The test images and masks the Python runner pushes to the device.
 *
 * <ul>
 *   <li>{@code images}: raw float32 little-endian, NCHW, RGB/255 in [0, 1]: N*C*H*W*4 bytes;
 *   <li>{@code masks}: raw uint8 (N, H, W) with values 0 or 1: N*H*W bytes;
 *   <li>{@code shape}: "N,C,H,W".
 * </ul>
 *
 * <p>Sizes are checked against the shape when the files are opened. Images are read one at a time
 * ({@link #image}), so a paper-scale test set (hundreds of 959x640 images) never sits in memory
 * at once.
 */
public final class TestData implements Closeable {
  private final int n;
  private final int c;
  private final int h;
  private final int w;
  private final RandomAccessFile images;
  private final RandomAccessFile masks;

  private TestData(int[] shape, RandomAccessFile images, RandomAccessFile masks) {
    this.n = shape[0];
    this.c = shape[1];
    this.h = shape[2];
    this.w = shape[3];
    this.images = images;
    this.masks = masks;
  }

  /**
   * Opens both files and checks their sizes against {@code shape} (N, C, H, W). Errors name the
   * argument ({@code images:} or {@code masks:}), the file, its size and the expected size.
   */
  public static TestData open(File imagesFile, File masksFile, int[] shape) throws IOException {
    if (shape == null || shape.length != 4) {
      throw new IllegalArgumentException("shape: expected N,C,H,W");
    }
    long imageBytes = 4L * shape[0] * shape[1] * shape[2] * shape[3];
    long maskBytes = (long) shape[0] * shape[2] * shape[3];
    checkFile("images", imagesFile, imageBytes, shape, "N*C*H*W float32 values");
    checkFile("masks", masksFile, maskBytes, shape, "N*H*W uint8 values");
    RandomAccessFile img = new RandomAccessFile(imagesFile, "r");
    RandomAccessFile msk;
    try {
      msk = new RandomAccessFile(masksFile, "r");
    } catch (IOException e) {
      img.close();
      throw e;
    }
    return new TestData(shape, img, msk);
  }

  private static void checkFile(String arg, File f, long expected, int[] shape, String what) {
    if (!f.isFile()) {
      throw new IllegalArgumentException(arg + ": no such file: " + f.getPath());
    }
    if (!f.canRead()) {
      throw new IllegalArgumentException(arg + ": cannot read " + f.getPath());
    }
    long actual = f.length();
    if (actual != expected) {
      throw new IllegalArgumentException(
          arg
              + ": "
              + f.getPath()
              + " has "
              + actual
              + " bytes, but shape "
              + shape[0]
              + ","
              + shape[1]
              + ","
              + shape[2]
              + ","
              + shape[3]
              + " needs "
              + expected
              + " ("
              + what
              + ")");
    }
  }

  /** Number of images, N. */
  public int count() {
    return n;
  }

  public int channels() {
    return c;
  }

  public int height() {
    return h;
  }

  public int width() {
    return w;
  }

  /** The shape of one model input: {1, C, H, W}. */
  public long[] inputShape() {
    return new long[] {1, c, h, w};
  }

  /** Image {@code i} as C*H*W floats (CHW). */
  public float[] image(int i) throws IOException {
    checkIndex(i);
    int count = c * h * w;
    ByteBuffer buf = readAt(images, 4L * count * i, 4 * count);
    float[] out = new float[count];
    buf.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  /**
   * Mask {@code i} as H*W bytes, each 0 or 1; any other value fails, naming the image and pixel
   * (a mask saved as 0/255 is the usual mistake).
   */
  public byte[] mask(int i) throws IOException {
    checkIndex(i);
    int count = h * w;
    ByteBuffer buf = readAt(masks, (long) count * i, count);
    byte[] out = new byte[count];
    buf.get(out);
    for (int p = 0; p < count; p++) {
      if (out[p] != 0 && out[p] != 1) {
        throw new IllegalArgumentException(
            "masks: image "
                + i
                + " has value "
                + (out[p] & 0xff)
                + " at pixel "
                + p
                + "; expected 0 or 1");
      }
    }
    return out;
  }

  private void checkIndex(int i) {
    if (i < 0 || i >= n) {
      throw new IndexOutOfBoundsException("image " + i + " of " + n);
    }
  }

  private static ByteBuffer readAt(RandomAccessFile f, long position, int length)
      throws IOException {
    FileChannel ch = f.getChannel();
    ByteBuffer buf = ByteBuffer.allocate(length);
    long pos = position;
    while (buf.hasRemaining()) {
      int r = ch.read(buf, pos);
      if (r < 0) {
        throw new EOFException("unexpected end of file at byte " + pos);
      }
      pos += r;
    }
    buf.flip();
    return buf;
  }

  @Override
  public void close() throws IOException {
    try {
      images.close();
    } finally {
      masks.close();
    }
  }
}
