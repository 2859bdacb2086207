/* SPDX-License-Identifier: LGPL-2.1-or-later
 * charta-model.c: placeholder until its owner writes it. */
