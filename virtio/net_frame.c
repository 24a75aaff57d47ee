// SPDX-License-Identifier: MIT
/*
 * net_frame.c - what a virtio-net frame may be, either way across the tap:
 * its length and the offload requests in its header, judged against the
 * features the driver negotiated. Pure functions of a header copy, for the
 * device (net.c), the unit test and the fuzz harness alike.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>

#include "net_int.h"

/* Checksum request: inside the frame; only with the feature that allows it. */
static int
check_csum(const struct virtio_net_hdr_v1 *h, uint64_t len, bool allowed)
{
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	if (!allowed || (uint64_t)h->csum_start + h->csum_offset + 2 > len)
		return -EINVAL;
	return 0;
}

/* Segmentation request: a kind the receiver negotiated, with a segment size. */
static int
check_gso(const struct virtio_net_hdr_v1 *h, bool tso4, bool tso6, bool ecn)
{
	uint8_t type = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	if (type == VIRTIO_NET_HDR_GSO_NONE)
		return h->gso_type ? -EINVAL : 0;
	if (!(type == VIRTIO_NET_HDR_GSO_TCPV4 && tso4) &&
	    !(type == VIRTIO_NET_HDR_GSO_TCPV6 && tso6))
		return -EINVAL;
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !ecn)
		return -EINVAL;
	return h->gso_size ? 0 : -EINVAL;
}

/**
 * net_tx_check() - whether a frame the guest sent may go to the tap.
 * @h:         its header, copied out of guest memory; flag bits the
 *             device does not know are cleared (virtio 1.2, 5.1.6.2.2).
 * @frame_len: bytes after the header.
 * @features:  the negotiated features.
 *
 * Return: 0, or -EINVAL: drop the frame.
 */
int
net_tx_check(struct virtio_net_hdr_v1 *h, uint64_t frame_len, uint64_t features)
{
	h->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->num_buffers = 0;
	if (frame_len < ETH_HLEN || frame_len > NET_MAX_FRAME)
		return -EINVAL;
	if (check_csum(h, frame_len, net_has(features, VIRTIO_NET_F_CSUM)) < 0)
		return -EINVAL;
	return check_gso(h, net_has(features, VIRTIO_NET_F_HOST_TSO4),
			 net_has(features, VIRTIO_NET_F_HOST_TSO6), net_has(features, VIRTIO_NET_F_HOST_ECN));
}

/**
 * net_rx_check() - whether a frame from the tap may go to the guest.
 * @h:         its header; DATA_VALID is cleared unless the guest takes
 *             checksum hints, num_buffers is zeroed.
 * @frame_len: bytes after the header.
 * @features:  the negotiated features.
 *
 * The tap only makes frames the offloads capsa set allow, but those were
 * set for the driver before the last reset: a frame it queued then may
 * ask for what this driver cannot do.
 *
 * Return: 0, or -EINVAL: drop the frame.
 */
int
net_rx_check(struct virtio_net_hdr_v1 *h, uint64_t frame_len, uint64_t features)
{
	bool csum = net_has(features, VIRTIO_NET_F_GUEST_CSUM);

	h->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	h->num_buffers = 0;
	if (frame_len < ETH_HLEN || frame_len > NET_MAX_FRAME)
		return -EINVAL;
	if (check_csum(h, frame_len, csum) < 0)
		return -EINVAL;
	if (!csum)
		h->flags = 0;		/* DATA_VALID is a hint only such a guest reads */
	return check_gso(h, net_has(features, VIRTIO_NET_F_GUEST_TSO4),
			 net_has(features, VIRTIO_NET_F_GUEST_TSO6), net_has(features, VIRTIO_NET_F_GUEST_ECN));
}

/**
 * net_random_mac() - a random locally administered unicast address.
 */
void
net_random_mac(uint8_t mac[6])
{
	if (getrandom(mac, 6, 0) != 6) {
		uint64_t t = (uint64_t)time(NULL) * 2654435761U ^ (uint64_t)getpid() << 16;

		memcpy(mac, &t, 6);
	}
	mac[0] = (uint8_t)((mac[0] & ~3) | 2);
}
