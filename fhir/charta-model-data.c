/* SPDX-License-Identifier: LGPL-2.1-or-later
 * charta-model-data.c: placeholder until its owner writes it. */
