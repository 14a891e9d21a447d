/* ringbuf.c — the consumer side of a BPF ring buffer (BPF_MAP_TYPE_RINGBUF),
 * read through mmap with no copies and no syscall per record:
 * - page 0, read-write: the consumer position, which hud advances;
 * - from page 1, read-only: the producer position, then the data area mapped
 *   twice in a row so a record that wraps around reads as contiguous.
 * epoll on the map fd wakes hud when the kernel submits records. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>
#include "loader/loader_int.h"

struct ringbuf {
	int map_fd;
	int epoll_fd;
	size_t page;
	size_t size;                    /* data area, a power of two */
	unsigned long *consumer_pos;    /* shared with the kernel */
	const unsigned long *producer_pos;
	const unsigned char *data;
	unsigned long seen;             /* records before this were handed out */
	int hold;                       /* keep the last one in the ring (ringbuf_hold) */
};

struct ringbuf *ringbuf_open(int map_fd, char *err, size_t errlen)
{
	struct ringbuf *rb = calloc(1, sizeof(*rb));
	struct bpf_map_info info;
	struct epoll_event ev;
	void *p;

	if (!rb) {
		snprintf(err, errlen, "hud: out of memory");
		return NULL;
	}
	rb->map_fd = map_fd;
	rb->epoll_fd = -1;
	rb->page = (size_t)sysconf(_SC_PAGESIZE);
	if (loader_obj_info(map_fd, &info, sizeof(info)) < 0) {
		loader_fail(err, errlen, errno, "hud: cannot query the ring buffer map (BPF_OBJ_GET_INFO_BY_FD)");
		goto fail;
	}
	rb->size = info.max_entries;
	p = mmap(NULL, rb->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED) {
		loader_fail(err, errlen, errno, "hud: cannot map the ring buffer's consumer page (mmap)");
		goto fail;
	}
	rb->consumer_pos = p;
	p = mmap(NULL, rb->page + 2 * rb->size, PROT_READ, MAP_SHARED, map_fd, (off_t)rb->page);
	if (p == MAP_FAILED) {
		loader_fail(err, errlen, errno, "hud: cannot map the ring buffer's data (mmap)");
		goto fail;
	}
	rb->producer_pos = p;
	rb->data = (const unsigned char *)p + rb->page;

	rb->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	if (rb->epoll_fd < 0 || epoll_ctl(rb->epoll_fd, EPOLL_CTL_ADD, map_fd, &ev) < 0) {
		loader_fail(err, errlen, errno, "hud: cannot wait on the ring buffer (epoll)");
		goto fail;
	}
	return rb;
fail:
	ringbuf_close(rb);
	return NULL;
}

/* Hands every committed record to fn. The kernel publishes a record by
 * clearing its BUSY bit with release semantics, so the length is read with
 * acquire; the consumer position is published with release so the kernel
 * never reuses space hud is still reading. */
static int drain(struct ringbuf *rb, ringbuf_fn fn, void *ctx)
{
	unsigned long cons = __atomic_load_n(rb->consumer_pos, __ATOMIC_ACQUIRE);
	int count = 0;

	/* Under hold, the last record handed out is still in the ring. */
	if (rb->seen > cons)
		cons = rb->seen;
	for (;;) {
		unsigned long prod = __atomic_load_n(rb->producer_pos, __ATOMIC_ACQUIRE);
		if (cons >= prod)
			break;
		while (cons < prod) {
			const uint32_t *hdr = (const uint32_t *)(rb->data + (cons & (rb->size - 1)));
			uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
			if (len & BPF_RINGBUF_BUSY_BIT)
				goto out;
			uint32_t body = len & ~(uint32_t)(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
			unsigned long start = cons;
			cons += (BPF_RINGBUF_HDR_SZ + body + 7) & ~7ul;
			int stop = 0;
			if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
				count++;
				stop = fn(ctx, (const unsigned char *)hdr + BPF_RINGBUF_HDR_SZ, body);
			}
			rb->seen = cons;
			__atomic_store_n(rb->consumer_pos, rb->hold ? start : cons, __ATOMIC_RELEASE);
			if (stop)
				goto out;
		}
	}
out:
	return count;
}

void ringbuf_hold(struct ringbuf *rb, int on)
{
	rb->hold = on;
	if (!on && rb->seen > __atomic_load_n(rb->consumer_pos, __ATOMIC_ACQUIRE))
		__atomic_store_n(rb->consumer_pos, rb->seen, __ATOMIC_RELEASE);
}

int ringbuf_poll(struct ringbuf *rb, int timeout_ms, ringbuf_fn fn, void *ctx)
{
	struct epoll_event ev;

	if (timeout_ms != 0 && epoll_wait(rb->epoll_fd, &ev, 1, timeout_ms) < 0 && errno != EINTR)
		return -1;
	return drain(rb, fn, ctx);
}

int ringbuf_epoll_fd(const struct ringbuf *rb)
{
	return rb->epoll_fd;
}

void ringbuf_close(struct ringbuf *rb)
{
	if (!rb)
		return;
	if (rb->epoll_fd >= 0)
		close(rb->epoll_fd);
	if (rb->consumer_pos)
		munmap(rb->consumer_pos, rb->page);
	if (rb->producer_pos)
		munmap((void *)rb->producer_pos, rb->page + 2 * rb->size);
	free(rb);
}
