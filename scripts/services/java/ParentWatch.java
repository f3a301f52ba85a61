import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.util.Arrays;

/**
 * Runs another main class and exits when standard input closes.
 *
 * The Node process that starts a test server holds the write end of the server's stdin. If that
 * process dies, even by SIGKILL, the pipe closes, this watcher sees end-of-file and calls
 * System.exit, which runs the server's shutdown hooks. So a test server never outlives its owner.
 *
 * Usage: java -cp ... ParentWatch <main class> [args...]
 */
public final class ParentWatch {
  private ParentWatch() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println("usage: ParentWatch <main class> [args...]");
      System.exit(2);
    }
    Thread watcher = new Thread(ParentWatch::exitOnEndOfInput, "parent-watch");
    watcher.setDaemon(true);
    watcher.start();
    Method main = Class.forName(args[0]).getMethod("main", String[].class);
    main.invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
  }

  private static void exitOnEndOfInput() {
    InputStream in = System.in;
    byte[] buffer = new byte[256];
    try {
      while (in.read(buffer) >= 0) {
        // Input is ignored; only its end matters.
      }
    } catch (IOException e) {
      // A broken pipe means the owner is gone too.
    }
    System.exit(0);
  }
}
