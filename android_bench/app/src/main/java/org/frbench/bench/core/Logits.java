package org.frbench.bench.core;

/**
 * The output of one forward pass: logits of shape (1, C, H, W), float32, NCHW.
 *
 * <p>Runners may return a lazy implementation that copies the data out of the runtime's tensor
 * only when {@link #data()} is called, so that the timed runs (which never look at the output)
 * do not time that copy.
 */
public interface Logits {
  /** The output shape, e.g. {1, 2, 64, 64}. */
  long[] shape();

  /** The output values, row-major (NCHW); its length is the product of {@link #shape()}. */
  float[] data();

  /** Eager logits over an array already in hand (tests, simple runners). */
  static Logits of(final float[] data, final long[] shape) {
    return new Logits() {
      @Override
      public long[] shape() {
        return shape.clone();
      }

      @Override
      public float[] data() {
        return data;
      }
    };
  }
}
