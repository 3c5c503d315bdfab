package android.content;

import java.io.File;

public abstract class Context {
  // compile-only stub: see compile-stubs/README.md
  public abstract File getFilesDir();
}
