/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vusession.h: the vhost-user session of the vsock device (vusession.c): messages, memory table, ring set-up. */
#ifndef VTR_VUSESSION_H
#define VTR_VUSESSION_H

struct vtr_vudev;

/* Back to the state before any message: what a new or a closed session starts from. */
void session_reset(struct vtr_vudev *dev);
/* Reads and handles every whole message that has arrived; -errno when the session is over. */
int session_input(struct vtr_vudev *dev);

#endif
