/**
 * Service interfaces the core looks up with {@link java.util.ServiceLoader} and works without:
 * {@link dev.cmwq.spi.OsIntegration} (thread pinning, nice levels, the current CPU).
 */
package dev.cmwq.spi;
