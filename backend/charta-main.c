/* SPDX-License-Identifier: LGPL-2.1-or-later
 * placeholder until its owner writes it. */
int main (void);
int
main (void)
{
  return 0;
}
