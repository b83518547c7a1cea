"""Text front-end: what a person typed -> words -> ARPAbet phones, keeping the original words."""
