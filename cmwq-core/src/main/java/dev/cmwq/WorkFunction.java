package dev.cmwq;

/**
 * The function of a work item, {@code work_func_t}. It receives the item itself, so a function
 * shared by many items can find its context from the item (the kernel's {@code container_of}
 * idiom: subclass {@link Work} and cast).
 *
 * <p>A function may requeue its own item, flush or cancel other items, or drop the item: the
 * engine never touches the item after calling the function. Anything it throws is caught,
 * counted in {@link WorkqueueStats#failed()} and handed to the workqueue's exception handler;
 * the worker thread lives on.
 */
@FunctionalInterface
public interface WorkFunction {
  /**
   * Runs the work.
   *
   * @param work the item being executed
   * @throws Exception anything; reported to the workqueue's handler
   */
  void run(Work work) throws Exception;
}
