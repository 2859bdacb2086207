/* SPDX-License-Identifier: LGPL-2.1-or-later
 * charta-progress.c: placeholder until its owner writes it. */
