/**
 * The Linux kernel's concurrency-managed workqueue (cmwq) for the JVM: the public API
 * ({@link dev.cmwq.WorkqueueSystem}, {@link dev.cmwq.Workqueue}, {@link dev.cmwq.Work}) and the
 * package-private engine that mirrors {@code kernel/workqueue.c}, semantics as of Linux 6.9-6.12
 * with the 6.10 disable counts and the ordered-workqueue plug (see the project's SPEC).
 *
 * <h2>Where the kernel's structures live</h2>
 * <ul>
 *   <li>{@code struct workqueue_struct}: {@link dev.cmwq.Workqueue} (queueing, flush colours,
 *       drain/destroy, max_active, attributes);</li>
 *   <li>{@code struct pool_workqueue}: {@code PoolWorkqueue} (refcount, nr_active, inactive list,
 *       release through {@code pool_workqueue_release});</li>
 *   <li>{@code struct worker_pool}: {@code WorkerPool} (predicates, idle list, busy hash, manager);</li>
 *   <li>{@code struct worker}: {@code Worker} (the thread loop, {@code process_one_work}, hooks);</li>
 *   <li>{@code struct work_struct}: {@link dev.cmwq.Work} (the data word, grab-pending, cancel, flush);</li>
 *   <li>{@code struct wq_node_nr_active}: {@code NodeNrActive};</li>
 *   <li>the scheduler hooks and timers: {@code SamplingTick};</li>
 *   <li>the globals: {@link dev.cmwq.WorkqueueSystem}; {@code kthread_worker}:
 *       {@link dev.cmwq.kthread}.</li>
 * </ul>
 *
 * <h2>Locking rules</h2>
 * Every mutable field of the engine starts its comment with one of these codes, as
 * {@code workqueue.c} does:
 * <dl>
 *   <dt>I</dt><dd>final, or set before the object is safely published (thread start, volatile
 *       write) and never changed.</dd>
 *   <dt>L</dt><dd>guarded by the pool lock, {@code WorkerPool.lock}.</dd>
 *   <dt>K</dt><dd>written only by the owning worker while holding the pool lock; read by that
 *       worker freely, by others under the pool lock.</dd>
 *   <dt>S</dt><dd>written only by the owning thread.</dd>
 *   <dt>T</dt><dd>touched only by the sampling tick thread (under the pool lock when shared).</dd>
 *   <dt>N / LN</dt><dd>guarded by the node nr_active lock / written under it and the pool lock.</dd>
 *   <dt>PL</dt><dd>guarded by {@code WorkqueueSystem.poolMutex} ({@code wq_pool_mutex}).</dd>
 *   <dt>WQ</dt><dd>guarded by {@code Workqueue.mutex} ({@code wq->mutex}).</dd>
 *   <dt>WR</dt><dd>written under {@code Workqueue.mutex}, read lock-free (volatile).</dd>
 *   <dt>WO</dt><dd>written under {@code Workqueue.mutex}, read lock-free where a stale value is
 *       harmless (volatile).</dd>
 *   <dt>V</dt><dd>lock-free, updated only atomically (the kernel's {@code atomic_t} fields,
 *       concurrent collections).</dd>
 *   <dt>R</dt><dd>racy by design: read and written without synchronization where a stale or
 *       lost update is harmless (the kernel's per-CPU round-robin cursor).</dd>
 *   <dt>W</dt><dd>({@code dev.cmwq.kthread}) guarded by the {@code KthreadWorker} lock.</dd>
 *   <dt>B</dt><dd>({@code dev.cmwq.timer}) guarded by the {@code TimerBase} lock.</dd>
 *   <dt>MD</dt><dd>guarded by {@code WorkqueueSystem.maydayLock} ({@code wq_mayday_lock}).</dd>
 *   <dt>M</dt><dd>guarded by the object's own monitor ({@code synchronized (this)}).</dd>
 *   <dt>P</dt><dd>written only by the owner of a claim bit (a work item's PENDING, a timer's
 *       BUSY or QUEUED) before it publishes the object with a release store or CAS, read by
 *       whoever takes it over.</dd>
 * </dl>
 * RCU is replaced by safe publication plus garbage collection: lock-free readers may see an
 * object that was just unlinked, and re-validate under the lock as the kernel does. The
 * kernel's preemption and IRQ codes have no JVM meaning and are not used.
 *
 * <p>Lock order: {@code poolMutex} before {@code Workqueue.mutex} before pool locks before the
 * node nr_active lock. Two pool locks are never held together except by try-lock (activating a
 * pending pwq of another pool). The {@code KthreadWorker} lock is a leaf: it is taken under pool
 * locks when a pwq's last reference drops, and nothing is taken under it.
 */
package dev.cmwq;
