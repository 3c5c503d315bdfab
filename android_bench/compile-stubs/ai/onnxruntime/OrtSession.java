package ai.onnxruntime;

import java.util.Iterator;
import java.util.Map;
import java.util.Set;

public class OrtSession implements AutoCloseable {
  // compile-only stub: see compile-stubs/README.md
  public Set<String> getInputNames() {
    throw new UnsupportedOperationException("stub");
  }

  public Result run(Map<String, ? extends OnnxTensorLike> inputs) throws OrtException {
    throw new UnsupportedOperationException("stub");
  }

  @Override
  public void close() throws OrtException {}

  public static class SessionOptions implements AutoCloseable {
    public enum OptLevel {
      NO_OPT,
      BASIC_OPT,
      EXTENDED_OPT,
      ALL_OPT
    }

    public enum ExecutionMode {
      SEQUENTIAL,
      PARALLEL
    }

    public SessionOptions() {}

    public void setOptimizationLevel(OptLevel level) throws OrtException {}

    public void setIntraOpNumThreads(int numThreads) throws OrtException {}

    public void setInterOpNumThreads(int numThreads) throws OrtException {}

    public void setExecutionMode(ExecutionMode mode) throws OrtException {}

    @Override
    public void close() {}
  }

  public static class Result implements AutoCloseable, Iterable<Map.Entry<String, OnnxValue>> {
    public OnnxValue get(int index) {
      throw new UnsupportedOperationException("stub");
    }

    @Override
    public Iterator<Map.Entry<String, OnnxValue>> iterator() {
      throw new UnsupportedOperationException("stub");
    }

    @Override
    public void close() {}
  }
}
